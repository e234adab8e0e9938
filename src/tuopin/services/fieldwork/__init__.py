"""Field collection with ODK Collect and KoboToolbox: the survey form of an area and the
households its enumerators pick from."""
