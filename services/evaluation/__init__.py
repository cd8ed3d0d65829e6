"""Evaluation 完善考评制度: what every staff member, station, village, township and the county handled,
how fast and how satisfied people were, built incrementally from the other services' events, every
figure traceable to its records."""
