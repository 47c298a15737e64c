"""The on-board agent's calls that stream rows, driven by the `micronn` command like mnn_agent
(whose helpers they use): predict and evaluate read a data file in fixed-size chunks of rows
(micronn.datafile), so the data may be larger than the heap; record reads sensors and prints
rows as they come.
Kept apart from mnn_agent so that a training job does not hold this code in the heap."""
import json
import time

from mnn_agent import _data, _guard, _result, _StopRequest, load_model


def _loaded(model, rows):
    """Model NAME, checked against the rows' file, with the working buffers its first prediction
    makes (the integer engine's tables) made now."""
    from micronn import exact
    exact.table()               # the integer sigmoid's table, built before the model's arrays scatter the heap
    net = load_model("/models/%s.mnn" % model)
    rows.check(net.sizes[0], net.sizes[-1] if rows.n_out else None, "the model")
    net.predict([0.0] * net.sizes[0])
    return net


def predict(model, data):
    """Outputs for each row of a data file (inputs only), one "@O <json>" line per row; the file
    is read in chunks of rows (micronn.datafile), so it may be larger than the heap.  The row
    buffers are made before the model is loaded, while the heap still has free blocks that
    large."""
    _guard(_predict, (model, data))


def _predict(model, data):
    rows = _data(data)
    try:
        net = _loaded(model, rows)
        X = rows.X
        for r in range(rows.n):
            print("@O", json.dumps(net.predict(X[r])))
    finally:
        rows.close()
    _result({"rows": rows.n})


def evaluate(model, data):
    """How model NAME does on the labelled rows of a data file, read in chunks of rows: for a
    classifier (a model with class names) accuracy, confusion matrix and per-class precision,
    recall and F1; else MSE, MAE and R^2 (micronn.metrics)."""
    _guard(_evaluate, (model, data))


def _evaluate(model, data):
    rows = _data(data)
    try:
        from micronn import metrics
        net = _loaded(model, rows)
        n_out = net.sizes[-1]
        t = metrics.tally(net)
        X, Y = rows.X, rows.Y
        for r in range(rows.n):
            metrics.add_row(t, net.predict(X[r]), Y[r], 0, n_out)
    finally:
        rows.close()
    _result(t.report(net.classes) if net.classes else t.report(net.targets))


def record(source, label, rate, rows, seconds, window=1, stop=None):
    """Read sensors `rate` times a second and print each row of `window` readings as
    "@D <ms> <values>" (ms: ticks_ms of its first reading, from the start), until `rows` rows
    (0: no limit) or `seconds` seconds (0: no limit) or the stop byte.  source: a list of ADC
    pin numbers (each read as read_u16()), or the name of a module on the board whose read()
    returns a reading (a number or a list of numbers), and whose start(label), when it has one,
    is called first (to tell the person what to do, or a simulated sensor what to simulate)."""
    if isinstance(source, str):
        try:
            mod = __import__(source)
        except ImportError as e:
            raise ValueError("no module %s on the board (%s): put one there with a read() function, or use "
                             "--adc PINS" % (source, e))
        read = getattr(mod, "read", None)
        if read is None:
            raise ValueError("the module %s on the board has no read() function" % source)
        if hasattr(mod, "start"):
            mod.start(label)
    else:
        from machine import ADC, Pin
        adcs = [ADC(Pin(p)) for p in source]

        def read():
            return [a.read_u16() for a in adcs]
    if not 0 < rate <= 10000:
        raise ValueError("rate must be between 0 and 10000 readings a second, got %r" % (rate,))
    period = 1000.0 / rate
    halt = _StopRequest(stop)
    print("@S", json.dumps({"stoppable": halt.poller is not None}))
    t0 = time.ticks_ms()
    end_ms = int(seconds * 1000) if seconds else 0
    got = readings = 0
    line = []
    first = start = done_at = 0
    stopped = False
    while not rows or got < rows:
        wait = int(readings * period) - time.ticks_diff(time.ticks_ms(), t0)
        if wait > 0:
            time.sleep_ms(wait)
        at = time.ticks_diff(time.ticks_ms(), t0)
        if end_ms and at >= end_ms:
            break
        v = read()
        if not line:
            first = at
        if isinstance(v, (list, tuple)):
            for e in v:
                line.append(repr(e))
        else:
            line.append(repr(v))
        readings += 1
        if readings % window == 0:
            print("@D", first, " ".join(line))
            line = []
            if not got:
                start = first
            got += 1
            done_at = at
        if halt.seen():
            stopped = True
            break
    # the rate achieved: readings of whole rows over the time from the first to the last one
    _result({"rows": got, "readings": got * window, "span_ms": done_at - start, "stopped": stopped})
