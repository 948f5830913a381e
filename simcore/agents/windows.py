"""Trailing windows over per-tick KPI histories (`assets/netlists/wsloop/KPIs.py`, spec §6.2), each read in O(1).

TokenSPICE re-adds a window's entries every time it reads one (thousands of them, many times a tick). Here a
history keeps compensated prefix sums (a float and the rounding error it has accumulated, by Knuth's two-sum),
so any window is the difference of two prefixes, off by about one rounding however long the run; TokenSPICE's
own sum of n entries is within about n·ε of the exact one (1e-12 relative for a year of hourly ticks).
"""

from __future__ import annotations


class TrailingSums:
    """Values pushed once a tick, and the sum of any run of them among the last `keep`."""

    __slots__ = ("_error", "_errors", "_size", "_sum", "_sums", "count")

    def __init__(self, keep: int) -> None:
        self.count = 0  # values pushed so far
        self._sum = 0.0
        self._error = 0.0
        self._size = keep + 1  # the prefix of the first k values is at k % size, for the last keep + 1 of them
        self._sums = [0.0] * self._size
        self._errors = [0.0] * self._size

    def push(self, value: float) -> None:
        """Append `value` to the history."""
        total = self._sum
        new = total + value
        part = new - total  # Knuth's two-sum: the rounding error of total + value, exactly, without a branch
        self._error += (total - (new - part)) + (value - part)
        self._sum = new
        self.count = count = self.count + 1
        i = count % self._size
        self._sums[i] = new
        self._errors[i] = self._error

    def last(self, n: int) -> float:
        """The sum of the last `n` values (of all of them while fewer were pushed)."""
        count, size = self.count, self._size
        if n >= size:
            raise ValueError(f"the last {n} values are more than the {size - 1} kept")
        i = (count - n) % size if n < count else 0  # the prefix of no values (0.0) stays at 0 while count < size
        j = count % size
        sums, errors = self._sums, self._errors
        return (sums[j] - sums[i]) + (errors[j] - errors[i])

    def before(self, n: int, lag: int) -> float:
        """The sum of the `n` values before the last `lag` (of those there are; 0 before any)."""
        stop = self.count - lag
        if stop <= 0:
            return 0.0
        start, size = max(stop - n, 0), self._size
        if start < self.count - size + 1:
            raise ValueError(f"values {start}..{stop - 1} are not among the last {size - 1} kept")
        i, j = start % size, stop % size
        sums, errors = self._sums, self._errors
        return (sums[j] - sums[i]) + (errors[j] - errors[i])


class RevenueWindows(TrailingSums):
    """What a revenue rate (USD per second), recorded once a tick, earned over trailing windows of up to
    `longest` seconds, as `_revenueOverInterval` counts it: each tick earns rate * tick length. Windows are whole
    numbers of ticks."""

    __slots__ = ("_rates", "_tick_seconds")

    def __init__(self, tick_seconds: int, longest: int) -> None:
        ticks = longest // tick_seconds
        super().__init__(2 * ticks)  # a window and the one before it
        self._tick_seconds = tick_seconds
        self._rates = [0.0] * ticks  # the rate of tick k at k % ticks, for the second `ago` counts

    def record(self, rate: float) -> None:
        """Record this tick's rate."""
        self._rates[self.count % len(self._rates)] = rate
        self.push(rate * self._tick_seconds)

    def now(self, seconds: int) -> float:
        """What the last `seconds` earned (all ticks so far while fewer): `…MonthlyRevenueNow` for a month."""
        return self.last(seconds // self._tick_seconds)

    def ago(self, seconds: int) -> float:
        """What the `seconds` before the last `seconds` earned, as TokenSPICE counts it: both ends are inclusive, so
        it adds one second of the window's end tick (quirk 4); 0 while that window ends before the run began.
        `…MonthlyRevenueOneMonthAgo` for a month."""
        ticks = seconds // self._tick_seconds
        end = self.count - ticks
        if end < 0:
            return 0.0
        return self.before(ticks, ticks) + self._rates[end % len(self._rates)]
