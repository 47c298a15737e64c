"""main.py example: at boot, name the gesture the accelerometer feels, over and over.

Reads WINDOW readings of the module SENSOR's read() at RATE a second (the rows the model was
trained on with `micronn record --window WINDOW --rate RATE`), and prints the class name the
model gives them (net.classify) when it changes.  The model scales the raw readings itself
(trained with --scale standard, the default for class labels), so nothing here depends on the
sensor's units.

    micronn push gestures8.mnn --model gestures
    mpremote cp firmware/examples/gesture_main.py :main.py
"""
import time

import micronn

MODEL = "/models/gestures.mnn"
SENSOR = "accel"
WINDOW = 10
RATE = 100


def window(read, n, period_ms):
    """n readings of read(), flattened into one row."""
    row = []
    for _ in range(n):
        v = read()
        row.extend(v if isinstance(v, (list, tuple)) else (v,))
        if period_ms:
            time.sleep_ms(period_ms)
    return row


def main(model=MODEL, read=None, loops=None, period_ms=1000 // RATE):
    try:
        net = micronn.load(model)
    except (OSError, ValueError) as e:
        print("no usable model at %s (%s): record, train and push one first" % (model, e))
        return
    if not net.classes:
        print("%s has no class names: train it on labelled rows (micronn record --label ...)" % model)
        return
    if read is None:
        read = __import__(SENSOR).read
    last = None
    done = 0
    while loops is None or done < loops:
        name = net.classify(window(read, WINDOW, period_ms))
        if name != last:
            print(name)
            last = name
        done += 1


if __name__ == "__main__":
    main()
