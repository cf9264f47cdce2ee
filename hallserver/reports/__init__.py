"""The reports, in one room: the operating report (hall.py: 日报/周报/月报/年报, charts, CSV and
Excel), people (people.py: 按期办结率, 考勤, AB岗), cases (cases.py: 每日通报), ratings
(ratings.py: 好差评 statistics and the window ranking; rating_export.py: the records), and
the database tallies they read (queries.py). Above the store, below the web."""
