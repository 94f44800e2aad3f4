// Placeholder global setup; the S3 issue boots Ceph here.
export default function setup(): void {}
