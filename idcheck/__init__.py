"""What a data holder or a buyer installs (``pip install idcheck``): the SDK (:mod:`idcheck.client`)
and the command-line tools (:mod:`idcheck.cli`), on top of the signature spec (:mod:`signatures`)
and the wire models (:mod:`schemas`). Nothing here imports the server (:mod:`app`)."""
