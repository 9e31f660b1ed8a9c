"""The classroom relay: `tutor serve --relay`."""
