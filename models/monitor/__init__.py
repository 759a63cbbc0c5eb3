"""Monitoring the champion and the tariff: realised outcomes against the grades, calibration,
discrimination, grade migration, drift (PSI) and loss ratios, judged by a versioned policy."""
