/**
 * The tiny face detector's forward pass with each layer's input freed as soon as the next op
 * has read it. face-api (1.7.15) runs TinyYolov2's whole pass in one tf.tidy(), so every
 * activation (at 416 px the first layers' are 11 MB each, ~70 MB of float32 in all) is alive
 * until the pass ends, in a wasm heap that never shrinks: it was most of the camera-frame
 * engine's heap. The ops, their order and the weights are face-api's own (its convLayer,
 * depthwiseSeparableConv, leaky and normalize, as in its dist build), so the output is the
 * same bit for bit (test/integration/tiny-forward.test.ts); face-api's detect() still decodes
 * the boxes and runs the non-max suppression. The SSD's twin is ssd-forward.ts.
 */
import type { Tensor1D, Tensor4D } from '@tensorflow/tfjs';
import type { FaceApi, Tf } from './backend.ts';
import { freeing } from './ssd-forward.ts';

type TinyNet = FaceApi['nets']['tinyFaceDetector'];
type NetInput = InstanceType<FaceApi['NetInput']>;

interface ConvParams {
  filters: Tensor4D;
  bias: Tensor1D;
}
interface SeparableConvParams {
  depthwise_filter: Tensor4D;
  pointwise_filter: Tensor4D;
  bias: Tensor1D;
}
interface TinyParams {
  conv0: ConvParams;
  conv1: SeparableConvParams;
  conv2: SeparableConvParams;
  conv3: SeparableConvParams;
  conv4: SeparableConvParams;
  conv5: SeparableConvParams;
  conv6?: SeparableConvParams;
  conv7?: SeparableConvParams;
  conv8: ConvParams;
}
interface TinyConfig {
  withSeparableConvs: boolean;
  isFirstLayerConv2d?: boolean;
  meanRgb?: [number, number, number];
}

/** face-api's leaky ReLU (alpha 0.1), `x` freed. */
function leaky(tf: Tf, x: Tensor4D): Tensor4D {
  const alpha = tf.scalar(0.10000000149011612);
  const min = tf.mul(x, alpha);
  alpha.dispose();
  const relu = freeing(freeing(x, (t) => tf.sub(t, min)), (t) => tf.relu(t));
  try {
    return freeing(relu, (t) => tf.add(t, min)) as Tensor4D;
  } finally {
    min.dispose();
  }
}

/** face-api's convLayer (conv, bias, no ReLU), `x` freed. */
function convLayer(tf: Tf, x: Tensor4D, p: ConvParams, padding: 'valid' | 'same'): Tensor4D {
  return freeing(
    freeing(x, (t) => tf.conv2d(t, p.filters, [1, 1], padding)),
    (t) => tf.add(t, p.bias),
  ) as Tensor4D;
}

/** face-api's depthwiseSeparableConv (pad 1, separable conv, bias, leaky), `x` freed. */
function separable(tf: Tf, x: Tensor4D, p: SeparableConvParams): Tensor4D {
  const padded = freeing(x, (t) => tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]]));
  const conv = freeing(padded, (t) => tf.separableConv2d(t, p.depthwise_filter, p.pointwise_filter, [1, 1], 'valid'));
  return leaky(tf, freeing(conv, (t) => tf.add(t, p.bias)) as Tensor4D);
}

function maxPool(tf: Tf, x: Tensor4D, strides: [number, number]): Tensor4D {
  return freeing(x, (t) => tf.maxPool(t, [2, 2], strides, 'same'));
}

/** TinyFaceDetector.forwardInput (TinyYolov2's runMobilenet) with each activation freed once used. */
export function tinyForward(tf: Tf, params: TinyParams, config: TinyConfig, input: NetInput, inputSize: number): Tensor4D {
  if (!config.withSeparableConvs || !config.isFirstLayerConv2d) throw new Error('tinyForward runs the tiny face detector only');
  // face-api declares its own copy of the tfjs types; the tensor is this tfjs's.
  let x = freeing(input.toBatchTensor(inputSize, false) as unknown as Tensor4D, (t) => tf.cast(t, 'float32'));
  const mean = config.meanRgb;
  if (mean) {
    x = freeing(x, (t) =>
      tf.tidy(() => {
        const shape = [...t.shape.slice(0, 3), 1];
        return tf.sub(t, tf.concat(mean.map((m) => tf.fill(shape, m, 'float32')), 3));
      }),
    );
  }
  x = freeing(x, (t) => tf.div(t, 255));
  x = maxPool(tf, leaky(tf, convLayer(tf, x, params.conv0, 'valid')), [2, 2]);
  x = maxPool(tf, separable(tf, x, params.conv1), [2, 2]);
  x = maxPool(tf, separable(tf, x, params.conv2), [2, 2]);
  x = maxPool(tf, separable(tf, x, params.conv3), [2, 2]);
  x = maxPool(tf, separable(tf, x, params.conv4), [2, 2]);
  x = maxPool(tf, separable(tf, x, params.conv5), [1, 1]);
  if (params.conv6) x = separable(tf, x, params.conv6);
  if (params.conv7) x = separable(tf, x, params.conv7);
  return convLayer(tf, x, params.conv8, 'valid');
}

/** Makes `net` (loaded) run its forward pass through tinyForward; detect() is face-api's. */
export function useLeanTinyForward(tf: Tf, net: TinyNet): void {
  const { params, config } = net as unknown as { params: TinyParams | undefined; config: TinyConfig };
  if (!params) throw new Error('load the tiny face detector weights before useLeanTinyForward');
  (net as unknown as { forwardInput(input: NetInput, inputSize: number): unknown }).forwardInput = (input: NetInput, inputSize: number) => tinyForward(tf, params, config, input, inputSize);
}
