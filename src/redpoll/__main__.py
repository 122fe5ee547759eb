from redpoll.cli import main

raise SystemExit(main())
