"""The playground: train a network live in the browser. ``perceptrons playground`` starts it."""
