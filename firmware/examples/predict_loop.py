"""main.py example: at boot, load the trained model and predict from sensor readings, forever.

    micronn deploy
    micronn train data.csv --layers 3,8,1 ...       (or: micronn push model.mnn)
    mpremote cp firmware/examples/predict_loop.py :main.py
    mpremote reset

Each input is an analog pin read as a number from 0 to 1 (read_u16() / 65535): train on data
scaled the same way.  Set PINS for your board, one pin per model input (Pico: 26, 27, 28;
ESP32: 32-39).  The outputs are printed, one line per reading; act on them in main().
"""
import time

import micronn

MODEL = "/models/model.mnn"
PINS = (26, 27, 28)
PERIOD_MS = 200


def analog_inputs(pins):
    """A function that reads the pins, each as a number from 0 to 1."""
    from machine import ADC, Pin
    adcs = [ADC(Pin(p)) for p in pins]
    return lambda: [a.read_u16() / 65535 for a in adcs]


def load(path, pins):
    """The model at path, or None after saying what is wrong."""
    try:
        net = micronn.load(path)
    except (OSError, ValueError) as e:
        print("no usable model at %s (%s): train one with `micronn train` or send one with "
              "`micronn push`" % (path, e))
        return None
    if net.sizes[0] > len(pins):
        print("the model has %d inputs but PINS lists %d pins" % (net.sizes[0], len(pins)))
        return None
    return net


def main(model=MODEL, read=None, loops=None, period_ms=PERIOD_MS):
    net = load(model, PINS)
    if net is None:
        return
    read = read or analog_inputs(PINS[:net.sizes[0]])
    done = 0
    while loops is None or done < loops:
        y = net.predict(read())
        print(" ".join("%.4f" % v for v in y))
        done += 1
        time.sleep_ms(period_ms)


if __name__ == "__main__":
    main()
