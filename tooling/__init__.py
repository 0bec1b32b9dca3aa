"""What only developers run: documentation generation and mutation testing."""
