// Package metrics computes the evaluation metrics of the course: top-1 and
// top-5 accuracy, intersection over union (IoU) of boxes, greedy per-class
// non-maximum suppression (NMS), mean average precision (mAP) and peak
// signal-to-noise ratio (PSNR). Each is tested against a published worked
// example; the conventions that the examples in circulation disagree on are
// fixed here and stated once.
//
// # Ranking classes (top-k)
//
// A class ranks ahead of another when its score is greater, or, on equal
// scores, when its index is lower. This is what verify.Evaluate and the run
// command compute today (a stable sort by descending score), so switching
// them to this package changes no figure. A NaN score ranks below every
// number, NaNs among themselves by index. scikit-learn's
// top_k_accuracy_score breaks ties the other way (higher index first).
//
// # Boxes
//
// A Box is (X1, Y1) to (X2, Y2) in continuous coordinates: its width is
// X2−X1 and its height Y2−Y1, with no +1 (the PASCAL VOC devkit's integer
// pixel convention adds one to both; torchvision, MATLAB's bboxOverlapRatio
// and COCO do not). InclusivePixels converts VOC's pixel boxes, so that IoU
// and AP agree with its devkit. A box with X2 ≤ X1 or Y2 ≤ Y1 is empty.
//
// # Ordering detections
//
// NMS and average precision take detections by descending score; equal
// scores keep their input order, and NaN scores come last.
//
// # Non-maximum suppression
//
// Greedy: the best remaining detection is kept and every later detection of
// the same image and class whose IoU with it is strictly greater than the
// threshold is suppressed (IoU equal to the threshold survives), as in
// torchvision.ops.nms.
//
// # Average precision
//
// Detections of a class are matched in the order above to the ground truth
// of the same image and class with the highest IoU (the first one on equal
// IoU). With IoU ≥ the threshold, the detection is a true positive if that
// ground truth is unmatched (it becomes matched), a false positive if it was
// matched already, and ignored (neither) if it is marked difficult;
// otherwise it is a false positive. These are the PASCAL VOC devkit's rules.
// Difficult ground truths are not counted as positives.
//
// Two interpolations of the precision/recall curve: AllPoints (PASCAL VOC
// 2010 onwards: the area under the monotone precision envelope, summed
// where recall changes) and ElevenPoint (PASCAL VOC 2007: the mean of the
// envelope at recall 0, 0.1, …, 1, each level the double nearest i/10, so
// that a recall of exactly 3/10 reaches 0.3). MAP uses AllPoints. COCO's
// AP samples the same envelope at 101 recall points and averages over ten
// IoU thresholds; it is not implemented here.
//
// # PSNR
//
// PSNR = 10·log10(peak² / MSE) in dB, peak being the dynamic range of the
// samples (255 for 8-bit images). Identical images (MSE = 0) give +Inf.
//
// metrics imports only the standard library and nothing else of tpugen, so
// that verify, the compiler and the commands can all depend on it.
package metrics
