"""The model that learns while people label: cached sentence embeddings, a light live classifier
retrained in the background, queue strategies, the learning curve and suspect labels."""
