"""Local fakes of services outside our control, speaking their real HTTP APIs."""
