"""What only developers run: documentation generation, mutation testing, the hashed locks."""
