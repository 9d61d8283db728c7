"""The ``chorus`` command line: thin commands over the core that turn its errors into advice.

``main`` holds the command group and wires in the commands of each module; ``common`` holds what
every command shares (the site it works on, the consoles), so commands never import each other.
"""
