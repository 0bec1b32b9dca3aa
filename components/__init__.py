"""The ComponentResources of the program, one per file, each with its pure builders and typed args."""
