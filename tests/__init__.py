"""choreo's tests: a package, so that test folders named like choreo's plug-ins (tests/yang) never
shadow the real packages on sys.path."""
