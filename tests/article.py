"""The article's network, transcribed with NumPy: the oracle micronn must reproduce.

"How to build your own Neural Network from scratch in Python" (James Loy, 2018): one hidden
layer of 4 sigmoid units, a sigmoid output, no biases, sum-of-squares loss, and weights
updated by the full-batch gradient with the derivative written on the activated value.
"""
import numpy as np


def sigmoid(x):
    return 1.0 / (1 + np.exp(-x))


def sigmoid_derivative(x):
    return x * (1.0 - x)


class NeuralNetwork:
    def __init__(self, x, y):
        self.input = x
        self.weights1 = np.random.rand(self.input.shape[1], 4)
        self.weights2 = np.random.rand(4, 1)
        self.y = y
        self.output = np.zeros(self.y.shape)

    def feedforward(self):
        self.layer1 = sigmoid(np.dot(self.input, self.weights1))
        self.output = sigmoid(np.dot(self.layer1, self.weights2))

    def backprop(self):
        # chain rule: derivative of the loss with respect to weights2 and weights1
        d_weights2 = np.dot(self.layer1.T, (2 * (self.y - self.output) * sigmoid_derivative(self.output)))
        d_weights1 = np.dot(self.input.T, (np.dot(2 * (self.y - self.output) * sigmoid_derivative(self.output),
                                                  self.weights2.T) * sigmoid_derivative(self.layer1)))
        self.weights1 += d_weights1
        self.weights2 += d_weights2


X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
Y = [[0], [1], [1], [0]]


def run(seed, iterations=1500):
    """Train the article's network; return (network, loss after each feedforward)."""
    np.random.seed(seed)
    nn = NeuralNetwork(np.array(X, dtype=float), np.array(Y, dtype=float))
    losses = []
    for _ in range(iterations):
        nn.feedforward()
        losses.append(float(np.sum((nn.y - nn.output) ** 2)))
        nn.backprop()
    return nn, losses
