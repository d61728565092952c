from pynet.cli.main import main

main()
