"""The canary (issue 17): a scheduled dry run of every enabled recipe that never submits."""
