"""DirectoryBolt's small common package: settings, logging, the SQL gateway and shared data
contracts. Services import this and nothing of each other."""
