/**
 * SSD MobileNet v1's forward pass with each layer's input freed as soon as the next layer has
 * used it. face-api (1.7.15) runs the whole pass inside one tf.tidy(), so the output of every
 * MobileNet layer at 512x512 (~100 MB of float32 activations) is alive at once until the pass
 * ends, and on the wasm backend that grows a WebAssembly.Memory which never shrinks: it was most
 * of the enrolment process's resident memory. The ops, their order and the weights are
 * face-api's own, so the boxes and scores are the same bit for bit (test/integration/
 * ssd-forward.test.ts compares them with face-api's forwardInput); face-api's locateFaces()
 * still does the non-max suppression and the box mapping.
 */
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import type { FaceApi, Tf } from './backend.ts';

type SsdNet = FaceApi['nets']['ssdMobilenetv1'];
type NetInput = InstanceType<FaceApi['NetInput']>;

interface ConvParams {
  filters: Tensor4D;
  batch_norm_offset: Tensor1D;
}
interface DepthwiseParams {
  filters: Tensor4D;
  batch_norm_scale: Tensor1D;
  batch_norm_offset: Tensor1D;
  batch_norm_mean: Tensor1D;
  batch_norm_variance: Tensor1D;
}
interface BiasConvParams {
  filters: Tensor4D;
  bias: Tensor1D;
}
interface BoxPredictorParams {
  box_encoding_predictor: BiasConvParams;
  class_predictor: BiasConvParams;
}
type MobileNetParams = { conv_0: ConvParams } & Record<`conv_${number}`, { depthwise_conv: DepthwiseParams; pointwise_conv: ConvParams }>;
type PredictionParams = Record<`conv_${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7}`, ConvParams> & Record<`box_predictor_${0 | 1 | 2 | 3 | 4 | 5}`, BoxPredictorParams>;
interface SsdParams {
  mobilenetv1: MobileNetParams;
  prediction_layer: PredictionParams;
  output_layer: { extra_dim: Tensor3D };
}

/** face-api's batch-norm epsilon (float32 0.001). */
const EPSILON = 0.0010000000474974513;

/**
 * Conv, batch-norm offset, ReLU6: face-api's pointwise layer. `free`: `x` is freed as soon as
 * the conv has read it (at 256x256 it is 8 MB, and two 16 MB outputs follow).
 */
function pointwise(tf: Tf, x: Tensor4D, p: ConvParams, strides: [number, number], free = false): Tensor4D {
  const conv = tf.conv2d(x, p.filters, strides, 'same');
  if (free) x.dispose();
  return freeing(freeing(conv, (t) => tf.add(t, p.batch_norm_offset)), (t) => tf.clipByValue(t, 0, 6)) as Tensor4D;
}

/** Depthwise conv, batch norm, ReLU6: face-api's depthwise layer; `free` as for pointwise. */
function depthwise(tf: Tf, x: Tensor4D, p: DepthwiseParams, strides: [number, number], free = false): Tensor4D {
  const conv = tf.depthwiseConv2d(x, p.filters, strides, 'same');
  if (free) x.dispose();
  const normed = freeing(conv, (t) => tf.batchNorm(t, p.batch_norm_mean, p.batch_norm_variance, p.batch_norm_offset, p.batch_norm_scale, EPSILON));
  return freeing(normed, (t) => tf.clipByValue(t, 0, 6)) as Tensor4D;
}

/** `f(t)`, freeing `t`: at 256x256x64 each intermediate is 16 MB. */
export function freeing<T extends Tensor, U extends Tensor>(t: T, f: (t: T) => U): U {
  try {
    return f(t);
  } finally {
    t.dispose();
  }
}

/** MobileNet v1 on `input` (freed): the last layer's output and layer 11's (the first box predictor's input). */
function mobileNet(tf: Tf, input: Tensor4D, p: MobileNetParams): { out: Tensor4D; conv11: Tensor4D } {
  let x = pointwise(tf, input, p.conv_0, [2, 2], true);
  let conv11: Tensor4D | undefined;
  for (let i = 1; i <= 13; i++) {
    const stride: [number, number] = [2, 4, 6, 12].includes(i) ? [2, 2] : [1, 1];
    // Layer 11's output stays for the box predictor.
    const dw = depthwise(tf, x, p[`conv_${i}`]!.depthwise_conv, stride, x !== conv11);
    x = pointwise(tf, dw, p[`conv_${i}`]!.pointwise_conv, [1, 1], true);
    if (i === 11) conv11 = x;
  }
  return { out: x, conv11: conv11! };
}

/** The prediction layers, on maps of 32x32 and smaller (a few MB): one tidy, as face-api. */
function predict(tf: Tf, out: Tensor4D, conv11: Tensor4D, p: PredictionParams): { boxPredictions: Tensor4D; classPredictions: Tensor3D } {
  return tf.tidy(() => {
    const biasConv = (x: Tensor4D, q: BiasConvParams): Tensor4D => tf.add(tf.conv2d(x, q.filters, [1, 1], 'same'), q.bias);
    const boxes = (x: Tensor4D, q: BoxPredictorParams) => {
      const n = x.shape[0];
      return { box: tf.reshape(biasConv(x, q.box_encoding_predictor), [n, -1, 1, 4]) as Tensor4D, cls: tf.reshape(biasConv(x, q.class_predictor), [n, -1, 3]) as Tensor3D };
    };
    const c0 = pointwise(tf, out, p.conv_0, [1, 1]);
    const c1 = pointwise(tf, c0, p.conv_1, [2, 2]);
    const c2 = pointwise(tf, c1, p.conv_2, [1, 1]);
    const c3 = pointwise(tf, c2, p.conv_3, [2, 2]);
    const c4 = pointwise(tf, c3, p.conv_4, [1, 1]);
    const c5 = pointwise(tf, c4, p.conv_5, [2, 2]);
    const c6 = pointwise(tf, c5, p.conv_6, [1, 1]);
    const c7 = pointwise(tf, c6, p.conv_7, [2, 2]);
    const all = [boxes(conv11, p.box_predictor_0), boxes(out, p.box_predictor_1), boxes(c1, p.box_predictor_2), boxes(c3, p.box_predictor_3), boxes(c5, p.box_predictor_4), boxes(c7, p.box_predictor_5)];
    return { boxPredictions: tf.concat(all.map((a) => a.box), 1), classPredictions: tf.concat(all.map((a) => a.cls), 1) };
  });
}

/** Box encodings against the anchors, and face scores: face-api's output layer. */
function decode(tf: Tf, boxPredictions: Tensor4D, classPredictions: Tensor3D, extraDim: Tensor3D): { boxes: Tensor2D[]; scores: Tensor1D[] } {
  return tf.tidy(() => {
    const n = boxPredictions.shape[0];
    const anchors = tf.reshape(tf.tile(extraDim, [n, 1, 1]), [-1, 4]);
    const enc = tf.reshape(boxPredictions, [-1, 4]);
    const a = tf.unstack(tf.transpose(anchors, [1, 0]));
    const sizes = [tf.sub(a[2]!, a[0]!), tf.sub(a[3]!, a[1]!)] as const;
    const centres = [tf.add(a[0]!, tf.div(sizes[0], 2)), tf.add(a[1]!, tf.div(sizes[1], 2))] as const;
    const e = tf.unstack(tf.transpose(enc, [1, 0]));
    const halfH = tf.div(tf.mul(tf.exp(tf.div(e[2]!, 5)), sizes[0]), 2);
    const cy = tf.add(tf.mul(tf.div(e[0]!, 10), sizes[0]), centres[0]);
    const halfW = tf.div(tf.mul(tf.exp(tf.div(e[3]!, 5)), sizes[1]), 2);
    const cx = tf.add(tf.mul(tf.div(e[1]!, 10), sizes[1]), centres[1]);
    let decoded: Tensor = tf.transpose(tf.stack([tf.sub(cy, halfH), tf.sub(cx, halfW), tf.add(cy, halfH), tf.add(cx, halfW)]), [1, 0]);
    decoded = tf.reshape(decoded, [n, decoded.shape[0]! / n, 4]);
    const sig = tf.sigmoid(tf.slice(classPredictions, [0, 0, 1], [-1, -1, -1]));
    let scores: Tensor = tf.slice(sig, [0, 0, 0], [-1, -1, 1]);
    scores = tf.reshape(scores, [n, scores.shape[1]!]);
    return { boxes: tf.unstack(decoded) as Tensor2D[], scores: tf.unstack(scores) as Tensor1D[] };
  });
}

/** SsdMobilenetv1.forwardInput with each MobileNet activation freed once used. */
export function ssdForward(tf: Tf, params: SsdParams, input: NetInput): { boxes: Tensor2D[]; scores: Tensor1D[] } {
  // face-api declares its own copy of the tfjs types; the tensor is this tfjs's.
  const batch = input.toBatchTensor(512, false) as unknown as Tensor4D;
  const x = tf.tidy(() => tf.sub(tf.div(tf.cast(batch, 'float32'), 127.5), 1) as Tensor4D);
  batch.dispose();
  const { out, conv11 } = mobileNet(tf, x, params.mobilenetv1);
  const { boxPredictions, classPredictions } = predict(tf, out, conv11, params.prediction_layer);
  out.dispose();
  conv11.dispose();
  try {
    return decode(tf, boxPredictions, classPredictions, params.output_layer.extra_dim);
  } finally {
    boxPredictions.dispose();
    classPredictions.dispose();
  }
}

/** Makes `net` (loaded) run its forward pass through ssdForward; locateFaces() is face-api's. */
export function useLeanSsdForward(tf: Tf, net: SsdNet): void {
  const params = (net as unknown as { params: SsdParams | undefined }).params;
  if (!params) throw new Error('load the SSD MobileNet weights before useLeanSsdForward');
  (net as unknown as { forwardInput(input: NetInput): unknown }).forwardInput = (input: NetInput) => ssdForward(tf, params, input);
}
