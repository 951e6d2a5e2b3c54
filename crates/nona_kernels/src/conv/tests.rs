//! The NHWC convolution against the direct loops of [`crate::reference`].

use super::*;
use crate::reference::{self, assert_close, values};

/// `(batch, height, width, in, out, kernel, stride, pads)`.
type Case = (usize, usize, usize, usize, usize, usize, usize, Pads);

const ASYMMETRIC: Pads = Pads {
    top: 0,
    bottom: 1,
    left: 0,
    right: 1,
};
const WIDE: Pads = Pads {
    top: 1,
    bottom: 2,
    left: 2,
    right: 1,
};

fn cases() -> Vec<Case> {
    vec![
        // 1×1 images, with a pointwise and a padded 3×3 kernel.
        (1, 1, 1, 3, 5, 1, 1, Pads::default()),
        (1, 1, 1, 3, 7, 3, 1, Pads::uniform(1)),
        // The ResNet stem on a small odd image: 3 channels, 7×7/2, pad 3.
        (2, 9, 7, 3, 17, 7, 2, Pads::uniform(3)),
        // 1280 input channels (pointwise, as EfficientNet's head) and 1280 output channels.
        (1, 5, 3, 1280, 7, 1, 1, Pads::default()),
        (1, 3, 3, 20, 1280, 1, 1, Pads::default()),
        // TensorFlow "SAME" pads (odd pixel after), stride 2, and wider than they are tall.
        (2, 7, 5, 13, 19, 3, 2, ASYMMETRIC),
        (1, 6, 6, 9, 9, 5, 1, WIDE),
        // 3×3 with k = 630 over two blocks that split a kernel row (210 values) mid-way.
        (1, 6, 5, 70, 33, 3, 1, Pads::uniform(1)),
        // A strided 1×1 (ResNet's projection shortcut) and a window larger than the image.
        (1, 8, 7, 7, 5, 1, 2, Pads::default()),
        (1, 2, 2, 3, 4, 5, 2, Pads::uniform(2)),
        // A ResNet basic block's 3×3 at a small map, batch 3.
        (3, 5, 5, 16, 16, 3, 1, Pads::uniform(1)),
    ]
}

fn check(threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    for (index, (batch, height, width, cin, cout, kernel, stride, pads)) in
        cases().into_iter().enumerate()
    {
        let shape = Nhwc {
            batch,
            height,
            width,
            channels: cin,
        };
        let input = values(shape.len(), 10 + index as u64);
        let weight = values(cout * cin * kernel * kernel, 20);
        let bias = values(cout, 30);
        let conv = Conv2d::from_oihw(&weight, bias.clone(), cin, kernel, stride);
        let out = conv.output_shape(shape, pads).unwrap();
        let residual = values(out.len(), 40);
        for (residual, activation) in [
            (None, Activation::None),
            (Some(&residual[..]), Activation::Relu),
        ] {
            let mut output = vec![f32::NAN; out.len()];
            pool.install(|| conv.forward(&input, shape, pads, residual, activation, &mut output));
            let expected = reference::conv2d(
                &input,
                shape,
                &weight,
                &bias,
                (kernel, stride),
                pads,
                residual,
                activation,
            );
            assert_close(
                &output,
                &expected,
                &format!("case {index} on {threads} threads, {activation:?}"),
            );
        }
    }
}

#[test]
fn matches_direct_convolution_on_one_thread() {
    check(1);
}

#[test]
fn matches_direct_convolution_on_two_threads() {
    check(2);
}

#[test]
fn an_input_smaller_than_the_kernel_has_no_output() {
    let conv = Conv2d::from_oihw(&values(2 * 3 * 9, 1), vec![0.0; 2], 3, 3, 1);
    let shape = Nhwc {
        batch: 1,
        height: 1,
        width: 4,
        channels: 3,
    };
    assert_eq!(conv.output_shape(shape, Pads::default()), None);
    assert_eq!(
        conv.output_shape(shape, Pads::uniform(1)),
        Some(Nhwc {
            batch: 1,
            height: 1,
            width: 4,
            channels: 2
        })
    );
}
