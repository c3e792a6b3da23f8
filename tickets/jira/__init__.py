"""Moving in from JIRA: reading its exports (`reader`), mapping its values onto ours
(`mapping`) and writing the tickets (`services`)."""
