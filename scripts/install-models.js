console.log('models: placeholder')
