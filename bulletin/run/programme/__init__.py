"""A programme: the stories wrapped in an opener, headlines, stings and a closer, fitted to a slot.

- :mod:`~bulletin.run.programme.file`: the programme file, read and checked once per run;
- :mod:`~bulletin.run.programme.rundown`: what it says, part by part (pure);
- :mod:`~bulletin.run.programme.show`: the programme in a run (voices, spoken time, sounds);
- :mod:`~bulletin.run.programme.fit`: which stories fit the slot (the fitting loop);
- :mod:`~bulletin.run.programme.make`: its :class:`~bulletin.run.make.Maker` (measure, fit, mix).
"""

from bulletin.run.programme.file import Programme, load_programme, parse_slot

__all__ = ["Programme", "load_programme", "parse_slot"]
