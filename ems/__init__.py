"""EMS (the national employment-statistics system) as we speak to it: the sync of approved destinations."""
