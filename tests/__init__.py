"""The test suite: the program under the Pulumi SDK's mocks, no network (see docs/development.md)."""
