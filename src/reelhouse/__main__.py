from reelhouse.cli.main import main

main()
