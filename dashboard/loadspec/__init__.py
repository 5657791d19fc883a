"""What load is asked for, checked: a burst's or a sustained run's request, plan and limits, and the
names of the servers load may go to. Below the model and the load generator alike, which both
describe runs in these terms; it imports nothing of the dashboard above it."""
