from audiogan.cli import main

main()
