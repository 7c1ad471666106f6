"""The sensitivity filter: detectors that flag private shots, the scan that runs them."""
