"""Sample data for ``reconcile``: the bundled sample and the generator that made it.

The files beside this module are what ``reconcile demo`` runs on:

* ``declarations.xlsx`` — a lead provider's declarations (INTERFACES.md §2);
* ``dfe-statements.xlsx`` — DfE statements that match what DfE would pay for them
  (INTERFACES.md §3), consistent by construction (see ``samples/README.md``);
* ``dfe-statements-planted.xlsx`` — the same statements with known discrepancies,
  listed in ``planted.json`` (code, statement, line) so that tests can check each
  one is found;
* ``contracts/*.yaml`` — the call-off contracts they were priced with (INTERFACES.md §4);
* ``api/<provider>/`` — the same declarations as each provider's Lead Provider API v3
  pull: declarations pages, participants pages, statements list (DfE's shapes);
* ``assurance/`` — DfE's assurance report of every output-fee statement (DfE's shape).

Regenerate them, byte for byte, with::

    python -m samples.generate --out samples --declarations 3000 --seed 2026 --planted \\
        --api-json --assurance

(``tests/samples`` checks that this reproduces the committed files; ``README.md``
here says what the data holds and how its DfE side is made.)
"""

from __future__ import annotations

from pathlib import Path

#: This folder: the committed sample data of a checkout.
SAMPLES_DIR = Path(__file__).resolve().parent

#: How the committed sample was generated (tests check it reproduces).
SAMPLE_SEED = 2026
SAMPLE_DECLARATIONS = 3000
