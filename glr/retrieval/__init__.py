"""Retrieval: recognising a landmark by the training photos it resembles.

`index` is the embedding index (exact cosine search, or faiss HNSW for large sets);
`recognition` turns neighbours into kNN votes, blends them with the head, and calibrates
the "not a known landmark" verdict; `run_index` builds and evaluates a run's index and
serves the recogniser the predictor uses; `flip` embeds a photo as the mean of its view and
its mirror image's (what a new run's index and the predictor do).
"""
