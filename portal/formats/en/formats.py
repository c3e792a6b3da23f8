# One date format in every page: "Wed 25 Nov 2026, 14:30 EST" (the zone always shown).
DATETIME_FORMAT = "D d M Y, H:i T"
SHORT_DATETIME_FORMAT = "D d M Y, H:i T"
DATE_FORMAT = "D d M Y"
SHORT_DATE_FORMAT = "D d M Y"
