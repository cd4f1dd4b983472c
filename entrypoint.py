"""The container's entry point (Dockerfile ENTRYPOINT). No arguments: the GitHub action.
Arguments: a chat-smoke command, or any program (Jenkins runs ``cat``, GitLab ``sh``).
The logic is in smoke/action.py."""

import sys

from smoke.action import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
