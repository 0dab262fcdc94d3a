from hookyard.cli.main import main

main()
