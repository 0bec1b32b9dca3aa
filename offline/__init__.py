"""The program run under the Pulumi SDK's mocks, with no engine and no cloud: render, preview, diff,
check, prerequisites, and the engine's and providers' rules as data (`python -m offline --help`)."""
