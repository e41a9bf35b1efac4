from gitserver.cli.main import main

raise SystemExit(main())
