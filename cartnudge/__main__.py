from cartnudge.cli import main

main()
