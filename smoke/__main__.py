from smoke.cli import main

main()
