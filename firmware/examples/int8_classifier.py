"""main.py example: a classifier that runs an int8 copy of the trained model.

At boot it loads /models/model.mnn and makes an int8 copy with micronn.quantize (one byte per
weight; a prediction is one integer viper call, many times faster than the float model), then
lets the float model go.  It reads the sensors every PERIOD_MS and prints the class whenever it
changes: its name from the model (trained on class names: net.classify) or else from LABELS:
for one output, LABELS[0] below 0.5 and LABELS[1] above; for several outputs (softmax,
one per class) the largest one.  Inputs are analog pins read as 0..1, as in predict_loop.py:
inside the [-1, 1] range quantize() assumes without calibration data.

    mpremote cp firmware/examples/int8_classifier.py :main.py
"""
import gc
import time

import micronn

MODEL = "/models/model.mnn"
PINS = (26, 27, 28)
LABELS = ("off", "on")          # one name per class, for a model without class names
PERIOD_MS = 20


def analog_inputs(pins):
    from machine import ADC, Pin
    adcs = [ADC(Pin(p)) for p in pins]
    return lambda: [a.read_u16() / 65535 for a in adcs]


def int8_model(path):
    """The int8 copy of the model at path (an int8 model file is used as it is)."""
    net = micronn.load(path)
    if net.dtype == "b":
        return net
    q = micronn.quantize(net)
    del net
    gc.collect()
    return q


def label(y):
    """The class of one prediction."""
    k = int(y[0] > 0.5) if len(y) == 1 else max(range(len(y)), key=lambda i: y[i])
    return LABELS[k] if k < len(LABELS) else "class %d" % k


def main(model=MODEL, read=None, loops=None, period_ms=PERIOD_MS):
    try:
        q = int8_model(model)
    except (OSError, ValueError) as e:
        print("no usable model at %s (%s)" % (model, e))
        return
    read = read or analog_inputs(PINS[:q.sizes[0]])
    last = None
    done = 0
    while loops is None or done < loops:
        now = q.classify(read()) if q.classes else label(q.predict(read()))
        if now != last:
            print(now)
            last = now
        done += 1
        time.sleep_ms(period_ms)


if __name__ == "__main__":
    main()
