from pynet.cli.main import entry

entry()
