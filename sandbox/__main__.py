"""`python -m sandbox BASE`: one warm parent, with fixed addresses, serving a pool (see `sandbox.zygote`)."""

import sys

from sandbox.addresses import exec_with_fixed_addresses

fixed = exec_with_fixed_addresses()  # first: it may re-execute this process

from sandbox import zygote  # noqa: E402 - after the re-execution, so the imports happen once

zygote.serve(sys.stdin.buffer, sys.stdout.buffer, sys.argv[1], fixed)
