"""The engines: the dense reference (NumPy) and the event-driven kernels (Numba) over a record."""

import warnings

from numba.core.errors import NumbaIRAssumptionWarning

# The kernels inline the registry's step functions (inline="always"); when they are compiled
# (the first run after an install or an edit), Numba's internal "pedantic check" warns that
# inlined variables are "not in scope", dozens of lines on a user's stderr.  The check is about
# Numba's IR bookkeeping, not results (event = reference bit for bit is tested), so exactly that
# warning is silenced, for evsim's kernels only.
warnings.filterwarnings("ignore", message=r"variable '.*' is not in scope", category=NumbaIRAssumptionWarning,
                        module=r".*evsim")
