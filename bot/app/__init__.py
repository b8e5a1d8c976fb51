"""Use cases of the terugkoppeling, one function each, taking the ports they need."""
