from reconcile.entry import main

main()
