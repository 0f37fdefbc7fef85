"""Users, roles, login and the permission checks every view uses."""
