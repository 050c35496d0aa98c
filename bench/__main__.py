"""`python -m bench` (or `./dev.sh bench`): see bench/README.md."""

if __name__ == "__main__":
    from bench.run import main

    main()
